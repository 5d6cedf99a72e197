module groupwait.invalid/benches/go

go 1.22
