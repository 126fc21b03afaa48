set terminal pngcairo size 900,560 noenhanced
set key outside right
set grid
set output 'bench/results/latency-vs-rss.png'
set title 'spawn latency vs parent resident memory (true_static)'
set xlabel 'parent RSS (GiB)'
set ylabel 'median latency (us)'
set logscale y
unset logscale x
plot 'bench/results/latency-vs-rss.dat' index 0 using 1:2 with linespoints title 'fork_exec', 'bench/results/latency-vs-rss.dat' index 1 using 1:2 with linespoints title 'vfork_exec', 'bench/results/latency-vs-rss.dat' index 2 using 1:2 with linespoints title 'posix_spawn', 'bench/results/latency-vs-rss.dat' index 3 using 1:2 with linespoints title 'posix_spawnp', 'bench/results/latency-vs-rss.dat' index 4 using 1:2 with linespoints title 'fl_spawn', 'bench/results/latency-vs-rss.dat' index 5 using 1:2 with linespoints title 'fl_spawnp', 'bench/results/latency-vs-rss.dat' index 6 using 1:2 with linespoints title 'posix_shim', 'bench/results/latency-vs-rss.dat' index 7 using 1:2 with linespoints title 'template'
set output 'bench/results/latency-vs-threads.png'
set title 'spawn latency vs busy threads in the parent (true_static)'
set xlabel 'busy threads'
set ylabel 'median latency (us)'
set logscale y
unset logscale x
plot 'bench/results/latency-vs-threads.dat' index 0 using 1:2 with linespoints title 'fork_exec', 'bench/results/latency-vs-threads.dat' index 1 using 1:2 with linespoints title 'vfork_exec', 'bench/results/latency-vs-threads.dat' index 2 using 1:2 with linespoints title 'posix_spawn', 'bench/results/latency-vs-threads.dat' index 3 using 1:2 with linespoints title 'posix_spawnp', 'bench/results/latency-vs-threads.dat' index 4 using 1:2 with linespoints title 'fl_spawn', 'bench/results/latency-vs-threads.dat' index 5 using 1:2 with linespoints title 'fl_spawnp', 'bench/results/latency-vs-threads.dat' index 6 using 1:2 with linespoints title 'posix_shim', 'bench/results/latency-vs-threads.dat' index 7 using 1:2 with linespoints title 'template'
set output 'bench/results/latency-vs-fds.png'
set title 'spawn latency vs open fds in the parent (true_static)'
set xlabel 'open fds'
set ylabel 'median latency (us)'
set logscale y
set logscale x
plot 'bench/results/latency-vs-fds.dat' index 0 using 1:2 with linespoints title 'fork_exec', 'bench/results/latency-vs-fds.dat' index 1 using 1:2 with linespoints title 'vfork_exec', 'bench/results/latency-vs-fds.dat' index 2 using 1:2 with linespoints title 'posix_spawn', 'bench/results/latency-vs-fds.dat' index 3 using 1:2 with linespoints title 'posix_spawnp', 'bench/results/latency-vs-fds.dat' index 4 using 1:2 with linespoints title 'fl_spawn', 'bench/results/latency-vs-fds.dat' index 5 using 1:2 with linespoints title 'fl_spawnp', 'bench/results/latency-vs-fds.dat' index 6 using 1:2 with linespoints title 'posix_shim', 'bench/results/latency-vs-fds.dat' index 7 using 1:2 with linespoints title 'template'
set output 'bench/results/throughput-vs-inflight.png'
set title 'throughput vs spawns in flight (one caller thread) (true_static)'
set xlabel 'children in flight'
set ylabel 'spawns/s'
set logscale y
unset logscale x
plot 'bench/results/throughput-vs-inflight.dat' index 0 using 1:2 with linespoints title 'fork_exec', 'bench/results/throughput-vs-inflight.dat' index 1 using 1:2 with linespoints title 'vfork_exec', 'bench/results/throughput-vs-inflight.dat' index 2 using 1:2 with linespoints title 'posix_spawn', 'bench/results/throughput-vs-inflight.dat' index 3 using 1:2 with linespoints title 'posix_spawnp', 'bench/results/throughput-vs-inflight.dat' index 4 using 1:2 with linespoints title 'fl_spawn', 'bench/results/throughput-vs-inflight.dat' index 5 using 1:2 with linespoints title 'fl_spawnp', 'bench/results/throughput-vs-inflight.dat' index 6 using 1:2 with linespoints title 'posix_shim', 'bench/results/throughput-vs-inflight.dat' index 7 using 1:2 with linespoints title 'template'
