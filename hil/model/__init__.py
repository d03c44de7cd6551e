"""The model as the host sees it: the file, its tensors, facts and input vectors."""
