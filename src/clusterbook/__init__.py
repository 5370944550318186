"""clusterbook: a self-hostable clustering service with a fast, filterable execution history."""

__version__ = "0.1.0"
