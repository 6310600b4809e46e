import Testing

@Test func placeholderSOCKS5() {}
