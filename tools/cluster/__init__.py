"""Sessions on a Ray cluster (`omnirt serve --cluster`): a front door that signals, a session host per node that
runs the sessions, and the rule that places them. Opt-in: nothing here is imported without `--cluster`, and Ray is
an extra (`omnirt[cluster]`)."""
