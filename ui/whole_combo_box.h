// WholeComboBox: a combo box whose words stay whole at any font (projector mode's is 1.6 times the desk's).
#pragma once

#include <QComboBox>

namespace gpulab {

// At least as wide as its longest item, since QComboBox keeps the least width it worked out at
// its first font and a larger one cut its words; or, made `elided`, as narrow as its column
// (a preset's title can be wider than the panel), its current item elided with "…".
class WholeComboBox : public QComboBox {
public:
    explicit WholeComboBox(bool elided = false, QWidget* parent = nullptr);
    QSize minimumSizeHint() const override;

protected:
    void changeEvent(QEvent* e) override;
    void showEvent(QShowEvent* e) override;
    void paintEvent(QPaintEvent* e) override;

private:
    int sizeFor(int textWidth) const;
    void fit();

    bool m_elided;
};

} // namespace gpulab
