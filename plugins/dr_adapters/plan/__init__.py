"""The plan model: manifests -> waves -> work units. Plain Python; never imports Airflow."""
