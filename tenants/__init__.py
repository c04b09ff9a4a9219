"""The division tree, principals and scope."""
