"""The counter terminal (呼叫器) and the rating pad (评价器): `python -m counter`."""
