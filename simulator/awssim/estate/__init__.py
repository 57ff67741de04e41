"""Seed helpers that build demo and test estates in the simulator (or any AWS account)."""
