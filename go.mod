module github.com/nmgo/nmgo

go 1.25.0

require golang.org/x/sys v0.50.0 // indirect
