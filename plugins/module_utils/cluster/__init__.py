"""The cluster's objects through the API: kubectl, Pod Security, namespace policy, section 5, serving CSRs."""
