import Testing

@Test func placeholderResolver() {}
