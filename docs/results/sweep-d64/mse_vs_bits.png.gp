# fq-eval plot: run `gnuplot <this file>` to redraw
set terminal pngcairo size 900,600 enhanced font 'DejaVu Sans,11'
set output 'docs/results/sweep-d64/mse_vs_bits.png'
set title 'MSE vs rate (sample_kv_d64.h5)' noenhanced
set xlabel 'bits per coordinate (headers included)' noenhanced
set ylabel 'MSE per coordinate' noenhanced
set grid xtics ytics mxtics mytics lc rgb '#cccccc'
set key top right box opaque noenhanced
set logscale y
set format y '10^{%L}'
set datafile missing 'NaN'
set offsets graph 0.03, graph 0.03, 0, 0
$s0 << EOD
0.5 1.1157945
0.75 0.8396665424
0.75 0.867621116
1.25 0.5179052569
1.25 0.4874993183
1.25 0.4590918517
2.25 0.1500928717
2.25 0.1424568347
2.25 0.1366757077
3.25 0.04160078882
3.25 0.0385743523
4.25 0.01075994515
EOD
$s1 << EOD
0.5 1.1157945
0.75 0.8396665424
1.25 0.4590918517
2.25 0.1366757077
3.25 0.0385743523
4.25 0.01075994515
EOD
$s2 << EOD
1.25 0.5179748598
2.25 0.1642013399
3.25 0.04815602372
4.25 0.01322022634
EOD
$s3 << EOD
1.25 0.5179748598
2.25 0.1642013399
3.25 0.04815602372
4.25 0.01322022634
EOD
$s4 << EOD
0.5 0.2563236777
0.75 0.1933846735
0.75 0.1999651412
1.25 0.1193572993
1.25 0.1124938839
1.25 0.1060490221
2.25 0.03511376692
2.25 0.03290521012
2.25 0.0316886704
3.25 0.009664138456
3.25 0.008905140064
4.25 0.002524662897
EOD
$s5 << EOD
0.5 0.2563236777
0.75 0.1933846735
1.25 0.1060490221
2.25 0.0316886704
3.25 0.008905140064
4.25 0.002524662897
EOD
$s6 << EOD
1.25 0.1198674597
2.25 0.03832680802
3.25 0.01112683117
4.25 0.003041205604
EOD
$s7 << EOD
1.25 0.1198674597
2.25 0.03832680802
3.25 0.01112683117
4.25 0.003041205604
EOD
plot $s0 using 1:2 with points pt 7 ps 1.3 lc rgb '#1f77b4' notitle, \
     $s1 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#1f77b4' title 'fib K', \
     $s2 using 1:2 with points pt 7 ps 1.3 lc rgb '#d62728' notitle, \
     $s3 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#d62728' title 'scalar K', \
     $s4 using 1:2 with points pt 7 ps 1.3 lc rgb '#ff7f0e' notitle, \
     $s5 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#ff7f0e' title 'fib V', \
     $s6 using 1:2 with points pt 7 ps 1.3 lc rgb '#8c564b' notitle, \
     $s7 using 1:2 with linespoints pt 7 ps 1.1 lw 2 lc rgb '#8c564b' title 'scalar V'
unset output
