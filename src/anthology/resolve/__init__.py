"""Resolve stage: ids, citations, cross-references, index and generated matter, for the whole book."""
