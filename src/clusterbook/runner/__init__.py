"""The execution lifecycle: turn a cluster into a run configuration, compute runs in worker
processes, keep their leases alive, cancel and recover them."""
