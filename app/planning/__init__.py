"""Planning: plages of the medical offices, appointments, booking, convocations, attendance."""
