# fq-eval plot: run `gnuplot <this file>` to redraw
set terminal pngcairo size 900,600 enhanced font 'DejaVu Sans,11'
set output 'docs/results/sweep-peers-d64/mse_vs_bits.png'
set title 'MSE vs rate (sample-t256-512.h5)' noenhanced
set xlabel 'bits per coordinate (headers included)' noenhanced
set ylabel 'MSE per coordinate' noenhanced
set grid xtics ytics mxtics mytics lc rgb '#cccccc'
set key top right box opaque noenhanced
set logscale y
set format y '10^{%L}'
set datafile missing 'NaN'
set offsets graph 0.03, graph 0.03, 0, 0
$s0 << EOD
4.5 0.01273947703
4.5 0.01070086247
EOD
$s1 << EOD
4.5 0.01070086247
EOD
$s2 << EOD
0.5 1.110413336
0.75 0.8351336419
0.75 0.859037759
1.25 0.516480722
1.25 0.4839227437
1.25 0.45844756
2.25 0.1503632917
2.25 0.1422955706
2.25 0.1365414595
3.25 0.04165914917
3.25 0.03867331573
4.25 0.0107754661
EOD
$s3 << EOD
0.5 1.110413336
0.75 0.8351336419
1.25 0.45844756
2.25 0.1365414595
3.25 0.03867331573
4.25 0.0107754661
EOD
$s4 << EOD
1 0.5201105339
2 0.2274508381
2 0.2312724139
4 0.0763355268
EOD
$s5 << EOD
1 0.5201105339
2 0.2274508381
4 0.0763355268
EOD
$s6 << EOD
1.5 2.143645548
2.5 0.1700846952
3 0.1275592238
3.5 0.03079556561
4.5 0.00670494644
5 0.005013247004
EOD
$s7 << EOD
1.5 2.143645548
2.5 0.1700846952
3 0.1275592238
3.5 0.03079556561
4.5 0.00670494644
5 0.005013247004
EOD
$s8 << EOD
0.75 4.720092204
1.25 2.416266545
2.25 1.225163315
4.25 0.5966382694
EOD
$s9 << EOD
0.75 4.720092204
1.25 2.416266545
2.25 1.225163315
4.25 0.5966382694
EOD
$s10 << EOD
1.25 0.5179184615
2.25 0.1654999204
3.25 0.04887798691
4.25 0.01346113584
EOD
$s11 << EOD
1.25 0.5179184615
2.25 0.1654999204
3.25 0.04887798691
4.25 0.01346113584
EOD
$s12 << EOD
2.5 0.7583554638
3.5 0.2472923161
4.5 0.07162056451
EOD
$s13 << EOD
2.5 0.7583554638
3.5 0.2472923161
4.5 0.07162056451
EOD
$s14 << EOD
4.5 0.002442406427
4.5 0.002436388977
EOD
$s15 << EOD
4.5 0.002436388977
EOD
$s16 << EOD
0.5 0.254288585
0.75 0.1912464757
0.75 0.1974671855
1.25 0.1175783691
1.25 0.1112881009
1.25 0.1049970263
2.25 0.03470198928
2.25 0.03252859728
2.25 0.0313831111
3.25 0.009516775117
3.25 0.008795430397
4.25 0.002484065469
EOD
$s17 << EOD
0.5 0.254288585
0.75 0.1912464757
1.25 0.1049970263
2.25 0.0313831111
3.25 0.008795430397
4.25 0.002484065469
EOD
$s18 << EOD
1 0.1111318558
2 0.04107426467
2 0.03884509592
4 0.008212755204
EOD
$s19 << EOD
1 0.1111318558
2 0.03884509592
4 0.008212755204
EOD
$s20 << EOD
1.5 0.903609697
2.5 0.06740647871
3 0.05164177996
3.5 0.01220839301
4.5 0.002664828996
5 0.002016038497
EOD
$s21 << EOD
1.5 0.903609697
2.5 0.06740647871
3 0.05164177996
3.5 0.01220839301
4.5 0.002664828996
5 0.002016038497
EOD
$s22 << EOD
0.75 1.003613356
1.25 0.5231870682
2.25 0.2633302901
4.25 0.1313087769
EOD
$s23 << EOD
0.75 1.003613356
1.25 0.5231870682
2.25 0.2633302901
4.25 0.1313087769
EOD
$s24 << EOD
1.25 0.1183142984
2.25 0.0378899986
3.25 0.01099220373
4.25 0.002997854004
EOD
$s25 << EOD
1.25 0.1183142984
2.25 0.0378899986
3.25 0.01099220373
4.25 0.002997854004
EOD
$s26 << EOD
2.5 0.1755943809
3.5 0.05633217304
4.5 0.01632153642
EOD
$s27 << EOD
2.5 0.1755943809
3.5 0.05633217304
4.5 0.01632153642
EOD
plot $s0 using 1:2 with points pt 7 ps 1.3 lc rgb '#1f77b4' notitle, \
     $s1 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#1f77b4' title 'block K', \
     $s2 using 1:2 with points pt 7 ps 1.3 lc rgb '#d62728' notitle, \
     $s3 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#d62728' title 'fib K', \
     $s4 using 1:2 with points pt 7 ps 1.3 lc rgb '#2ca02c' notitle, \
     $s5 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#2ca02c' title 'gsrq K', \
     $s6 using 1:2 with points pt 7 ps 1.3 lc rgb '#9467bd' notitle, \
     $s7 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#9467bd' title 'int K', \
     $s8 using 1:2 with points pt 7 ps 1.3 lc rgb '#ff7f0e' notitle, \
     $s9 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#ff7f0e' title 'qjl K', \
     $s10 using 1:2 with points pt 7 ps 1.3 lc rgb '#8c564b' notitle, \
     $s11 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#8c564b' title 'scalar K', \
     $s12 using 1:2 with points pt 7 ps 1.3 lc rgb '#e377c2' notitle, \
     $s13 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#e377c2' title 'scalar+qjl K', \
     $s14 using 1:2 with points pt 7 ps 1.3 lc rgb '#ff7f0e' notitle, \
     $s15 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#ff7f0e' title 'block V', \
     $s16 using 1:2 with points pt 7 ps 1.3 lc rgb '#8c564b' notitle, \
     $s17 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#8c564b' title 'fib V', \
     $s18 using 1:2 with points pt 7 ps 1.3 lc rgb '#e377c2' notitle, \
     $s19 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#e377c2' title 'gsrq V', \
     $s20 using 1:2 with points pt 7 ps 1.3 lc rgb '#17becf' notitle, \
     $s21 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#17becf' title 'int V', \
     $s22 using 1:2 with points pt 7 ps 1.3 lc rgb '#1f77b4' notitle, \
     $s23 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#1f77b4' title 'qjl V', \
     $s24 using 1:2 with points pt 7 ps 1.3 lc rgb '#d62728' notitle, \
     $s25 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#d62728' title 'scalar V', \
     $s26 using 1:2 with points pt 7 ps 1.3 lc rgb '#2ca02c' notitle, \
     $s27 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#2ca02c' title 'scalar+qjl V'
unset output
