"""Plan, recurrence, holiday and calendar logic for branchbot; never imports telegram."""
