# fq-eval plot: run `gnuplot <this file>` to redraw
set terminal pngcairo size 900,600 enhanced font 'DejaVu Sans,11'
set output 'docs/results/sweep-d64/out_cos_vs_ratio.png'
set title 'Attention-output cosine vs compression (sample_kv_d64.h5)' noenhanced
set xlabel 'compression ratio vs float16 (headers included)' noenhanced
set ylabel 'attention-output cosine cos(o, o_hat), mean over queries' noenhanced
set grid xtics ytics mxtics mytics lc rgb '#cccccc'
set key bottom left box opaque noenhanced
set logscale x
set datafile missing 'NaN'
set offsets graph 0.03, graph 0.03, 0, 0
$s0 << EOD
3.764705882 0.9956222059
4.923076923 0.9830379065
4.923076923 0.9847683738
7.111111111 0.9373788423
7.111111111 0.9422737871
7.111111111 0.9456434633
12.8 0.7733486801
12.8 0.7866420948
12.8 0.8042342177
21.33333333 0.6024381372
21.33333333 0.5663474
32 0.4088110261
EOD
$s1 << EOD
3.764705882 0.9956222059
4.923076923 0.9847683738
7.111111111 0.9456434633
12.8 0.8042342177
21.33333333 0.6024381372
32 0.4088110261
EOD
$s2 << EOD
3.764705882 0.9946553222
4.923076923 0.9807137627
7.111111111 0.9308562274
12.8 0.7709536704
EOD
$s3 << EOD
3.764705882 0.9946553222
4.923076923 0.9807137627
7.111111111 0.9308562274
12.8 0.7709536704
EOD
$s4 << EOD
3.764705882 0.9956222059 fib_k=2_N=256
4.923076923 0.9847683738 fib_k=3_N=512
7.111111111 0.9456434633 fib_k=4_N=256
12.8 0.8042342177 fib_k=8_N=256
21.33333333 0.6024381372 fib_k=16_N=256
32 0.4088110261 fib_k=32_N=256
EOD
plot $s0 using 1:2 with points pt 7 ps 1.3 lc rgb '#1f77b4' notitle, \
     $s1 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#1f77b4' title 'fib', \
     $s2 using 1:2 with points pt 7 ps 1.3 lc rgb '#d62728' notitle, \
     $s3 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#d62728' title 'scalar', \
     $s4 using 1:2 with lines lw 2 dt 2 lc rgb '#000000' title 'Pareto frontier', \
     $s4 using 1:2:3 with labels offset 0.6,0.6 font ',8' noenhanced notitle lc rgb '#000000'
unset output
