"""Pure smart-charging rules of OCPP 1.6: the profile model, its validation, installation
and clearing, the composite schedule, unit conversion and profile generators.

Nothing here performs I/O or reads the clock: every instant is an argument.
"""
