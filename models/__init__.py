"""Estimators, calibration, reasons and the scoring core that writes leads."""
