"""Train, evaluate and promote jobs over the MLflow registry."""
