print("ss-redir: not built yet")
