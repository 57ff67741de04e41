"""Airflow DAGs for every DR manifest in include/manifests (one per customer and environment).

Thin on purpose: the factory lives in plugins/dr_adapters/orchestration/factory.py.
"""

from dr_adapters.orchestration.factory import build_dags

globals().update(build_dags())
