"""Airflow glue: the DAG factory and thin operators over the adapters. The only Airflow-aware part."""
