"""AWS access: sessions per account and botocore waiters (ours and botocore's)."""
