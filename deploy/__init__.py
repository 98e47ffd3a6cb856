"""Deployment examples (Kubernetes, Prometheus) and the generator of their rendered parts."""
