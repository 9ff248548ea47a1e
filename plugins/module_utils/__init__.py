"""Everything the modules, filters and action plugins do, in subpackages that import one way.

LAYERS lists them lowest first. A file may import from its own subpackage (without a loop) and from any
subpackage listed before its own, never from one listed after; no file sits here directly beside this one.
tests/unit/test_import_layers.py holds that, counting imports made inside functions too; docs/design.md says
what each subpackage and file is for.
"""

LAYERS = (
    "base",       # leaf helpers: PyYAML, Go durations, file modes, TLS names, API resources
    "formats",    # the files a run edits and how it writes them (write policy, backups, kube-proxy's config)
    "platform",   # components and platforms as data (component registry, platforms/, components/)
    "catalogue",  # the CIS catalogue, its expressions and checks, what the components accept
    "observe",    # the node as it really is (processes, health, facts, listeners, binaries)
    "model",      # the user's variables: defaults, profiles, validation
    "report",     # the node audit and its reports
    "plan",       # a node's run as data (desired, predicted, never weaker, operations, node plan)
    "cluster",    # the cluster's objects through the API
)
