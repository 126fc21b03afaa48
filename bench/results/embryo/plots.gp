set terminal pngcairo size 900,560 noenhanced
set key outside right
set grid
set output 'bench/results/embryo/throughput-vs-inflight.png'
set title 'throughput vs spawns in flight (one caller thread) (true_static)'
set xlabel 'children in flight'
set ylabel 'spawns/s'
set logscale y
unset logscale x
plot 'bench/results/embryo/throughput-vs-inflight.dat' index 0 using 1:2 with linespoints title 'posix_spawn', 'bench/results/embryo/throughput-vs-inflight.dat' index 1 using 1:2 with linespoints title 'fl_spawn', 'bench/results/embryo/throughput-vs-inflight.dat' index 2 using 1:2 with linespoints title 'embryo', 'bench/results/embryo/throughput-vs-inflight.dat' index 3 using 1:2 with linespoints title 'embryo_async', 'bench/results/embryo/throughput-vs-inflight.dat' index 4 using 1:2 with linespoints title 'embryo_reserve'
