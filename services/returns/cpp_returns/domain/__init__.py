"""The returns service's domain: what a child's history says (``history``), the Children in Need census
built from it (``census``), the checks made before it is sent (``quality``) and the figures managers are
judged by (``performance``). Pure functions of the events, with no store or web framework."""
