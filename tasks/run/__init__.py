"""The run's pure decisions: plan, feed state, stories, settle, report."""
