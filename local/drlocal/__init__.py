"""Local tooling that is not the product: the in-process DAG runner and ``make demo``.

Kept out of ``plugins/`` so the MWAA ``plugins.zip`` ships only the product; it imports both the
product (``dr_adapters``) and the simulator (``awssim``), which never import it.
"""
