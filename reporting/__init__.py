"""The reporting model: the programme file, the unit registry, periods, the template layout,
Vietnamese formats, and the frames and findings a submission is read and checked into.

It imports nothing of flows, tasks, expectations or warehouse: they all build on it.
"""
