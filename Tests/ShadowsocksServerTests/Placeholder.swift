import Testing

@Test func placeholderShadowsocksServer() {}
