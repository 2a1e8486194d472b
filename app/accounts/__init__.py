"""Employer accounts: memberships of collectivities, delegation to secondary accounts."""
