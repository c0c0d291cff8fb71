"""The rights of the people in the data: erasure and export of everything held about one
person, across every domain's tables."""
