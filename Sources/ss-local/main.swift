// Placeholder (issue 7 / issue 5).
print("not built yet")
