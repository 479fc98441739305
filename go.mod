module github.com/halo-lb/halo

go 1.26.8
