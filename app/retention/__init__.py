"""Personal data (SPEC J): retention after a membership ends (G5, J2), portability (J1)."""
