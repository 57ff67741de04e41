#!/bin/sh
# Amazon MWAA startup script (s3://<bucket>/startup.sh), written by `make mwaa-bundle`.
# MWAA runs it on every Airflow component before Airflow starts; what it exports is in the
# environment of every Airflow process (scheduler, DAG processor, workers, triggerer, web server).

# The manifests ship inside the DAGs folder (s3://<bucket>/dags/include/manifests/), which MWAA
# keeps in sync at /usr/local/airflow/dags: a changed manifest is live without an environment update.
export DR_MANIFEST_DIR="${AIRFLOW_HOME:-/usr/local/airflow}/dags/include/manifests"

# Optional settings (defaults in README.md, "Settings"); uncomment to change them.
# export DR_TASK_RETRIES=2
# export DR_RETRY_DELAY_SECONDS=60
# export DR_MAX_PARALLEL_UNITS=16
