"""What runs beside the sources: price helper, fleet poller, Agent probe, demo emitter, trace port."""
