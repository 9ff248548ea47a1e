"""Reading a node as it really is: processes and their identity, health, facts, listeners, binaries, containerd, auditd."""
