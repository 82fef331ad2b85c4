# fq-eval plot: run `gnuplot <this file>` to redraw
set terminal pngcairo size 900,600 enhanced font 'DejaVu Sans,11'
set output 'docs/results/sweep-peers-d64/kl_vs_bits.png'
set title 'Attention KL vs rate (sample-t256-512.h5)' noenhanced
set xlabel 'bits per coordinate (headers included)' noenhanced
set ylabel 'KL(p || p_hat), nats, mean over queries' noenhanced
set grid xtics ytics mxtics mytics lc rgb '#cccccc'
set key top right box opaque noenhanced
set logscale y
set format y '10^{%L}'
set datafile missing 'NaN'
set offsets graph 0.03, graph 0.03, 0, 0
$s0 << EOD
4.5 0.005626082493
4.5 0.004621760491
EOD
$s1 << EOD
4.5 0.004621760491
EOD
$s2 << EOD
0.5 0.9886453139
0.75 0.6250053915
0.75 0.6471284556
1.25 0.2919747029
1.25 0.2642059851
1.25 0.2576862469
2.25 0.07049276807
2.25 0.06589384002
2.25 0.06247381129
3.25 0.0201046111
3.25 0.01743182012
4.25 0.004874860999
EOD
$s3 << EOD
0.5 0.9886453139
0.75 0.6250053915
1.25 0.2576862469
2.25 0.06247381129
3.25 0.01743182012
4.25 0.004874860999
EOD
$s4 << EOD
1 0.4502622522
2 0.1873205293
2 0.1524458526
4 0.06564223208
EOD
$s5 << EOD
1 0.4502622522
2 0.1524458526
4 0.06564223208
EOD
$s6 << EOD
1.5 0.7468607892
2.5 0.06769949958
3 0.04920477488
3.5 0.01230992441
4.5 0.002634064564
5 0.001913093484
EOD
$s7 << EOD
1.5 0.7468607892
2.5 0.06769949958
3 0.04920477488
3.5 0.01230992441
4.5 0.002634064564
5 0.001913093484
EOD
$s8 << EOD
0.75 1.210152327
1.25 0.6432141108
2.25 0.3196532545
4.25 0.1505251855
EOD
$s9 << EOD
0.75 1.210152327
1.25 0.6432141108
2.25 0.3196532545
4.25 0.1505251855
EOD
$s10 << EOD
1.25 0.2879655989
2.25 0.07759834312
3.25 0.0216116429
4.25 0.006391915646
EOD
$s11 << EOD
1.25 0.2879655989
2.25 0.07759834312
3.25 0.0216116429
4.25 0.006391915646
EOD
$s12 << EOD
2.5 0.2845933393
3.5 0.09722287151
4.5 0.02974013254
EOD
$s13 << EOD
2.5 0.2845933393
3.5 0.09722287151
4.5 0.02974013254
EOD
plot $s0 using 1:2 with points pt 7 ps 1.3 lc rgb '#1f77b4' notitle, \
     $s1 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#1f77b4' title 'block', \
     $s2 using 1:2 with points pt 7 ps 1.3 lc rgb '#d62728' notitle, \
     $s3 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#d62728' title 'fib', \
     $s4 using 1:2 with points pt 7 ps 1.3 lc rgb '#2ca02c' notitle, \
     $s5 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#2ca02c' title 'gsrq', \
     $s6 using 1:2 with points pt 7 ps 1.3 lc rgb '#9467bd' notitle, \
     $s7 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#9467bd' title 'int', \
     $s8 using 1:2 with points pt 7 ps 1.3 lc rgb '#ff7f0e' notitle, \
     $s9 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#ff7f0e' title 'qjl', \
     $s10 using 1:2 with points pt 7 ps 1.3 lc rgb '#8c564b' notitle, \
     $s11 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#8c564b' title 'scalar', \
     $s12 using 1:2 with points pt 7 ps 1.3 lc rgb '#e377c2' notitle, \
     $s13 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#e377c2' title 'scalar+qjl'
unset output
