"""The BentoML service and the inspectors' web console."""
