// Placeholder: the Shadowsocks server (the seed ssserver on our relay code) lands here (issue 7).
