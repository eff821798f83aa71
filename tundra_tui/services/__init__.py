"""What runs beside the sources: the price helper, the fleet poller, the Agent probe, the demo emitter."""
