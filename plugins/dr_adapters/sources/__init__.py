"""Where plans come from: manifests (schema, loader, planner), and next tag discovery.

Sits above ``adapters`` because it validates each resource's ``config`` with its adapter's schema;
``plan`` (the vocabulary every layer shares) sits below both and imports neither.
"""
