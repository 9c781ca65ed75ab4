"""People: accounts, sessions, and the throttle on wrong passwords."""
