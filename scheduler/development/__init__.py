"""The member development pipeline (发展党员): pure rules and the reminder source of the sweep."""
