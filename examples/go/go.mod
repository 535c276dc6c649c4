module egresskit-example

go 1.19
